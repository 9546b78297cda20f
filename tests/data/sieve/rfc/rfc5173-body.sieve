# RFC 5173 §7
require ["body", "fileinto"];
if body :text :contains "lunch" { fileinto "lunch"; }
if body :content "text" :contains "invoice" { fileinto "invoice-text"; }
if body :raw :contains "JVBERi" { fileinto "raw-pdf"; }
