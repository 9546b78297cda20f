# RFC 5228 §2.4.2.4
require ["encoded-character", "fileinto"];
if header :contains "subject" "${unicode:20AC}1000" { fileinto "euro-${hex:24 24}"; }
if header :contains "subject" "lunch${hex:20}tomorrow" { fileinto "${unicode:263a}"; }
