# RFC 5463 §5
require ["ihave", "fileinto"];
fileinto "undone";
if header :contains "subject" "lunch" { error "lunch mail is not allowed"; }
