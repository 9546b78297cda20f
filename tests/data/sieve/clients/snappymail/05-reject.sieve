require ["reject"];

/*
BEGIN:FILTER:0badf00d
BEGIN:HEADER
eyJJRCI6ICIwYmFkZjAwZCIsICJFbmFibGVkIjogdHJ1ZSwgIk5hbWUiOiAiQmxvY2sifQ==
END:HEADER
*/
if header :contains "From" "spammer@example.test"
{
	reject "No thanks.";
	stop;
}
/* END:FILTER */
