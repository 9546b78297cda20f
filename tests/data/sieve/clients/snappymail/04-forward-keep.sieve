require ["copy"];

/*
BEGIN:FILTER:c0ffee00
BEGIN:HEADER
eyJJRCI6ICJjMGZmZWUwMCIsICJFbmFibGVkIjogdHJ1ZSwgIk5hbWUiOiAiRm9yd2FyZCJ9
END:HEADER
*/
if true
{
	redirect :copy "bob@example.test";
}
/* END:FILTER */
