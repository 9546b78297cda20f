require ["fileinto","regex"];
# rule:[Tickets]
if allof (header :regex "subject" "^\\[TICKET-[0-9]+\\]")
{
	fileinto "Tickets";
	stop;
}
# rule:[Big mail]
if allof (size :over 100K)
{
	fileinto "Big";
}
