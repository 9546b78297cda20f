# RFC 5233 §6
require ["envelope", "subaddress", "fileinto"];
if envelope :detail "to" "invoices" { fileinto "Invoices"; }
if address :user "to" "me" { fileinto "to-me"; }
if envelope :detail :is "to" "" { fileinto "empty-detail"; }
