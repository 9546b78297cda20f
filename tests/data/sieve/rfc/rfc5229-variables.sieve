# RFC 5229 §3, §4
require ["variables", "fileinto"];
if header :matches "List-Id" "*<*.lists.example.org>" { set :lower "list" "${2}"; fileinto "lists.${list}"; }
if header :matches "subject" "Invoice #* for *" { fileinto "inv-${1}-${2}"; }
set "a" "x"; set :upper :length "b" "${a}${a}y";
if string :is "${b}" "3" { fileinto "len3"; }
