# RFC 5260 §6
require ["index", "date", "fileinto", "variables"];
if header :index 1 :matches "received" "from *.example.* by *" { fileinto "first-${1}"; }
if header :index 1 :last :matches "received" "from * by *" { fileinto "last-${1}"; }
if date :index 2 :zone "+0000" "received" "time" "22:59:00" { fileinto "second-hop"; }
if address :index 1 :is "cc" "me@example.com" { fileinto "cc-first"; }
