# RFC 5228 §4.2
if address :is "from" "alice@example.org" { redirect "alice-archive@example.com"; }
