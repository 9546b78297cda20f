require ["fileinto","mailbox"];
# rule:[Invoices]
if allof (header :contains "subject" "invoice")
{
	fileinto :create "Invoices";
}
