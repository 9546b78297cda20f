# draft-ietf-sieve-regex §3
require ["regex", "variables", "fileinto"];
if header :regex "list-id" "<([a-z]+)[.]lists[.]example[.]org>" { fileinto "list-${1}"; }
if header :regex "subject" "^(Re|Fwd): " { fileinto "reply"; }
if header :regex "subject" "[Ii]nvoice #([[:digit:]]+)" { fileinto "invoice-${1}"; }
