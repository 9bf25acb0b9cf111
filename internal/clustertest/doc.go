// Package clustertest holds the failover test of several Aftershock
// processes on a three-node NATS cluster (all in-process, loopback).
package clustertest
