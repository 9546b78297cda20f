# RFC 5228 §4.2 one delivery per mailbox + RFC 5232 flags: the last request's flags win
# (Pigeonhole's choice; found by the generated scripts of test_pigeonhole.py)
require ["fileinto", "imap4flags", "mailbox"];
fileinto "Twice";
if header :contains "subject" ["lunch", "Invoice"] { addflag "\\Seen"; fileinto "Twice"; }
fileinto :create :flags "$A" "Thrice";
fileinto :flags "$B" "Thrice";
if exists "List-Id" { fileinto "Thrice"; }
