# RFC 3894 §3
require ["copy", "fileinto"];
if header :contains "subject" "invoice" { redirect :copy "accounts@example.com"; fileinto :copy "Invoices"; }
