require ["fileinto", "mailbox"];

if header :contains "List-Id" "<users.lists.example.test>"
{
  fileinto :create "Lists/users";
}
