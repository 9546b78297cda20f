require ["editheader","fileinto","copy"];
# rule:[Mark list mail]
if allof (exists "list-id")
{
	addheader "X-Filtered" "list";
	fileinto "Lists";
	redirect :copy "bob@example.test";
}
