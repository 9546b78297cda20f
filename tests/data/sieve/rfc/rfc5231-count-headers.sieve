# RFC 5231 §4.1 :count on header fields
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "ge" :comparator "i;ascii-numeric" "received" "2" { fileinto "hops2"; }
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "5" { fileinto "crowd"; }
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" { fileinto "scored"; }
