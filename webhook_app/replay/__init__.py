"""The replay behind `make demo`: real bars through the study's signals, alertmodel.txt and the
real HTTP route, onto the paper exchange."""
