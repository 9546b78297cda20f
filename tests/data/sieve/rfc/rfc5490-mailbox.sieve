# RFC 5490 §3.2
require ["fileinto", "mailbox"];
if header :contains "subject" ["invoice", "lunch"] { fileinto :create "Auto/Created"; }
if mailboxexists "INBOX" { fileinto "inbox-exists"; }
if mailboxexists "Nope/Never" { fileinto "never"; }
