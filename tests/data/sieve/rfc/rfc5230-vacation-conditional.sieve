# RFC 5230 §7
require ["vacation", "fileinto"];
if header :contains "subject" "lunch" { vacation "No lunch this week, sorry."; }
if header :contains "subject" "Release" { fileinto "news"; }
