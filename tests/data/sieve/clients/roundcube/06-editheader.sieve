require ["editheader","fileinto"];
# rule:[Mark list mail]
if allof (exists "list-id")
{
	addheader "X-Filtered" "list";
	fileinto "Lists";
}
