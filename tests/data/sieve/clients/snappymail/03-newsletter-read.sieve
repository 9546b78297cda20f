require ["fileinto","imap4flags"];

/*
BEGIN:FILTER:11aa22bb
BEGIN:HEADER
eyJJRCI6ICIxMWFhMjJiYiIsICJFbmFibGVkIjogdHJ1ZSwgIk5hbWUiOiAiTmV3c2xldHRlcnMifQ==
END:HEADER
*/
if anyof (header :contains "From" "news@", exists "List-Unsubscribe")
{
	addflag "\\Seen";
	fileinto "Newsletters";
	stop;
}
/* END:FILTER */
