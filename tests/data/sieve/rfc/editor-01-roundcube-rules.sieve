# Roundcube managesieve style
require ["fileinto","mailbox","imap4flags","copy","relational","comparator-i;ascii-numeric"];
# rule:[Invoices]
if anyof (header :contains "subject" "Invoice", address :is "from" "billing@example.net")
{
	fileinto :create "Invoices";
	stop;
}
# rule:[Lists]
if exists "List-Id"
{
	addflag "\\Seen";
	fileinto "Lists";
}
# rule:[big]
if size :over 100K
{
	redirect :copy "archive@example.com";
}
