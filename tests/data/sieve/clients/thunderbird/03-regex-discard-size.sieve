require ["regex", "fileinto"];

if header :regex "From" ".*@(spam|junk)\\.example\\.test"
{
  discard;
  stop;
}

if size :under 1K
{
  fileinto "Small";
}
