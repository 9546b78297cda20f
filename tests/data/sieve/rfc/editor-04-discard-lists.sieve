require ["regex"];
if header :regex "List-Id" "users[.]lists" { discard; stop; }
if header :regex "subject" "(won|prize|lottery)" { discard; }
