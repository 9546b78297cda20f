# RFC 5183 §5 (only items that do not name the implementation)
require ["environment", "fileinto"];
if environment :is "vnd.nobody.knows" "x" { fileinto "odd"; }
if environment :contains "remote-ip" "" { fileinto "has-remote-ip"; }
