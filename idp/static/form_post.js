// OAuth 2.0 Form Post Response Mode: submit the response to the client at once. Without
// JavaScript the person presses the Continue button instead.
document.getElementById("form-post").submit();
