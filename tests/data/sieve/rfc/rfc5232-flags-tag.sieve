# RFC 5232 §5 :flags
require ["imap4flags", "fileinto"];
if header :contains "subject" "invoice" { fileinto :flags ["\\Flagged", "$Work"] "Invoices"; }
else { keep :flags "\\Seen"; }
