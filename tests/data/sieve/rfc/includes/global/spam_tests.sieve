# RFC 6609 §5: a global script (tests/data/sieve/rfc/includes/global = <data_dir>/sieve/global)
require ["fileinto"];
if header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }
