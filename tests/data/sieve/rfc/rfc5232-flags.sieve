# RFC 5232 §6
require ["imap4flags", "fileinto"];
if size :over 500 { setflag "\\Deleted"; }
if header :is "from" "boss@example.com" { setflag "\\Flagged"; fileinto "From Boss"; }
if header :contains "subject" ["lunch", "release"] { addflag "\\Seen $Label1"; }
if header :contains "subject" "release" { removeflag "\\Seen"; }
