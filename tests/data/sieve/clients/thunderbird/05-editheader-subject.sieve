require ["editheader", "variables", "fileinto"];

if header :matches "Subject" "[External] *"
{
  set "rest" "${1}";
  deleteheader "Subject";
  addheader "Subject" "${rest}";
  addheader "X-External" "yes";
  fileinto "External";
}
