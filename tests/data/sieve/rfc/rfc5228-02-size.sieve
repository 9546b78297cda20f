# RFC 5228 §5.9
require "fileinto";
if size :over 1K { fileinto "big"; } elsif size :under 400 { fileinto "tiny"; }
