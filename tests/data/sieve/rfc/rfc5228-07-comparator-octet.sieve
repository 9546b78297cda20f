# RFC 5228 §2.7.3
require "fileinto";
if header :is :comparator "i;octet" "subject" "LUNCH TOMORROW?" { fileinto "octet"; }
if header :is :comparator "i;ascii-casemap" "subject" "LUNCH TOMORROW?" { fileinto "casemap"; }
