require ["copy", "fileinto", "variables", "envelope", "subaddress"];
if envelope :matches :detail "to" "*" { set "d" "${1}"; }
if string :is "${d}" "" { redirect :copy "me@backup.example.com"; }
else { fileinto "plus/${d}"; }
