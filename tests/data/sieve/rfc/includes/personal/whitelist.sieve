# RFC 6609 §5: a personal script that sets a global variable and returns early
require ["include", "variables"];
global "status";
if address :domain "from" "example.org" { set "status" "white"; return; }
set "status" "grey";
