### Nextcloud Mail: Filters ### DON'T EDIT ###
require ["fileinto", "imap4flags"];
# FILTER: [{"name":"Newsletter","enable":true,"operator":"anyof","tests":[{"operator":"contains","values":["news@example.test"],"field":"from"}],"actions":[{"type":"fileinto","mailbox":"Newsletter"},{"type":"addflag","flag":"Newsletter"}],"priority":10}]
# Filter: Newsletter
if anyof (address :all :contains "From" "news@example.test") {
	addflag "$label1";
	fileinto "Newsletter";
}
### Nextcloud Mail: Filters ### END ###
