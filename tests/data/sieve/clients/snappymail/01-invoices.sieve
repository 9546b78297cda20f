require ["fileinto","mailbox"];

/*
BEGIN:FILTER:5f3a0c1e
BEGIN:HEADER
eyJJRCI6ICI1ZjNhMGMxZSIsICJFbmFibGVkIjogdHJ1ZSwgIk5hbWUiOiAiSW52b2ljZXMifQ==
END:HEADER
*/
if header :contains "Subject" "invoice"
{
	fileinto :create "Invoices";
	stop;
}
/* END:FILTER */
