### Nextcloud Mail: Vacation Responder ### DON'T EDIT ###
# DATA: {"version":1,"enabled":true,"start":"2020-01-01","end":"2099-12-31","subject":"On vacation","message":"I'm on vacation."}
require "date";
require "relational";
require "vacation";
if allof(currentdate :value "ge" "date" "2020-01-01", currentdate :value "le" "date" "2099-12-31") {
	vacation :days 4 :subject "On vacation" :addresses ["alice@example.test"] "I'm on vacation.";
}
### Nextcloud Mail: Vacation Responder ### END ###
