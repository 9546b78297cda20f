### Nextcloud Mail: Filters ### DON'T EDIT ###
require ["date", "fileinto", "relational", "vacation"];
# Filter: Receipts
if header :contains "Subject" ["receipt", "order"] {
	fileinto "Receipts";
}
### Nextcloud Mail: Filters ### END ###
### Nextcloud Mail: Vacation Responder ### DON'T EDIT ###
if allof(currentdate :value "ge" "date" "2020-01-01", currentdate :value "le" "date" "2099-12-31") {
	vacation :days 4 :subject "Away" :addresses ["alice@example.test"] "Away until the 4th.";
}
### Nextcloud Mail: Vacation Responder ### END ###
