# RFC 5260 §5
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2000" { fileinto "after-2000"; }
if currentdate :value "lt" "year" "1990" { fileinto "time-travel"; }
