package tusdserver

import (
	"context"
	"io"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an S3 API server in this process (gofakes3 over memory) with one bucket, for
// tusd's s3store. gofakes3 is chosen over a real object store because it is a Go
// module (no service to install, nothing AGPL) and starts in microseconds; it lacks
// UploadPartCopy, so tusd can join only parts under its 5 MiB part minimum (which it
// then does by download and upload).
type S3 struct {
	Bucket string
	Client *s3.Client
	srv    *httptest.Server
}

// StartS3 starts the server with an empty bucket.
func StartS3() (*S3, error) {
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.StdLog(log.New(io.Discard, "", 0))))
	srv := httptest.NewServer(faker.Server())
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	b := &S3{Bucket: "uploads", Client: client, srv: srv}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b.Bucket)}); err != nil {
		srv.Close()
		return nil, err
	}
	return b, nil
}

// Close stops the server; its objects are gone.
func (b *S3) Close() { b.srv.Close() }
