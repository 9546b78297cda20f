require ["fileinto", "imap4flags", "copy"];

if address :domain :is "from" "example.org"
{
  fileinto :copy :flags ["\\Seen"] "Archive/org";
}
