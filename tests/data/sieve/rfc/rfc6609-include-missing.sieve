# RFC 6609 §3.2 :optional
require ["include", "fileinto"];
include :optional "does_not_exist";
include :optional :global "does_not_exist_either";
fileinto "after-include";
