# RFC 5228 §2.7.1
require "fileinto";
if header :matches "subject" "?unch*" { fileinto "lunch"; }
if header :matches "subject" "*\\?" { fileinto "question"; }
