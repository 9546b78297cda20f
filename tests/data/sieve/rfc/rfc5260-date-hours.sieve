# RFC 5260 §7
require ["date", "relational", "fileinto"];
if allof(header :contains "from" "alice",
         date :value "ge" :originalzone "date" "hour" "09",
         date :value "lt" :originalzone "date" "hour" "17") { fileinto "office-hours"; }
if anyof(date :is :zone "+0000" "date" "weekday" "0",
         date :is :zone "+0000" "date" "weekday" "6") { fileinto "weekend"; }
