# RFC 6609 §5
require ["include", "variables", "fileinto", "imap4flags"];
global "status";
include :global "spam_tests";
include :personal "whitelist";
include :once "flag_lists";
include :once "flag_lists";
if string :is "${status}" "white" { fileinto "friends"; }
elsif string :is "${global.status}" "grey" { fileinto :flags "${status}" "strangers"; }
