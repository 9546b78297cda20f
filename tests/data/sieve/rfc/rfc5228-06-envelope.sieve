# RFC 5228 §5.4
require ["envelope", "fileinto"];
if envelope :all :is "from" "" { fileinto "bounces"; }
elsif envelope :domain :is "from" "example.net" { fileinto "net"; }
