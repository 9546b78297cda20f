# RFC 5260 §4.2
require ["date", "variables", "fileinto"];
if date :matches :zone "+0000" "date" "date" "*" { set "d" "${1}"; }
if date :matches :zone "+0000" "date" "julian" "*" { set "j" "${1}"; }
if date :matches :zone "-0130" "date" "time" "*" { set "t" "${1}"; }
if date :matches :originalzone "date" "zone" "*" { set "z" "${1}"; }
fileinto "d=${d} j=${j} t=${t} z=${z}";
