# draft-ietf-sieve-regex §3 on address parts
require ["regex", "fileinto"];
if address :regex :domain "from" "^(.+[.])?example[.](org|net)$" { fileinto "friends"; }
if address :regex :localpart "from" "^(mailer-daemon|postmaster)$" { fileinto "system"; }
if header :regex :comparator "i;octet" "subject" "^[a-z]" { fileinto "lowercase-start"; }
