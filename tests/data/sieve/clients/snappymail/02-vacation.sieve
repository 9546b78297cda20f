require ["vacation","date","relational"];

/*
BEGIN:FILTER:9b7d2e44
BEGIN:HEADER
eyJJRCI6ICI5YjdkMmU0NCIsICJFbmFibGVkIjogdHJ1ZSwgIk5hbWUiOiAiVmFjYXRpb24ifQ==
END:HEADER
*/
if allof (currentdate :value "ge" "date" "2020-01-01", currentdate :value "le" "date" "2099-12-31")
{
	vacation :days 1 :subject "Re: Out of office" :addresses ["alice@example.test"] "Back on Monday.";
}
/* END:FILTER */
