require ["imap4flags","copy"];
# rule:[Boss]
if anyof (address :is "from" "boss@example.test")
{
	addflag "\\Flagged";
	redirect :copy "bob@example.test";
}
