require ["imap4flags"];
if exists "List-Id" { addflag "$List"; }
