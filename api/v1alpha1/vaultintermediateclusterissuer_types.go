/*
Copyright 2026 The vault-intermediate-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IssuerTypeIdentifier is the prefix of the signer name that Kubernetes
// CertificateSigningRequests use to address a VaultIntermediateClusterIssuer:
// "vaultintermediateclusterissuers.pki.golemtrust.am/<issuer name>".
const IssuerTypeIdentifier = "vaultintermediateclusterissuers.pki.golemtrust.am"

// VaultIntermediateClusterIssuer signs intermediate CA certificates with a
// Vault (or OpenBao) PKI mount, but only for requests that satisfy its policy.
//
// It is cluster-scoped on purpose: the policy belongs to the security team,
// and a namespaced issuer would let a namespace owner write their own policy.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=vici,categories=cert-manager
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Vault",type="string",JSONPath=".status.conditions[?(@.type==\"VaultReady\")].reason"
// +kubebuilder:printcolumn:name="Server",type="string",JSONPath=".spec.vault.server"
// +kubebuilder:printcolumn:name="Policy",type="string",JSONPath=".status.policyDigestShort"
// +kubebuilder:printcolumn:name="Last Issued",type="date",JSONPath=".status.lastIssued.time"
// +kubebuilder:printcolumn:name="Last Denied",type="date",JSONPath=".status.lastDenied.time"
// +kubebuilder:printcolumn:name="Message",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type VaultIntermediateClusterIssuer struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Vault connection and the signing policy.
	// +required
	Spec VaultIntermediateClusterIssuerSpec `json:"spec"`

	// Status is written by the controller: readiness, the digest of the
	// policy in force, and what was last issued and denied.
	// +optional
	Status VaultIntermediateClusterIssuerStatus `json:"status,omitzero"`
}

// VaultIntermediateClusterIssuerSpec is the desired state of a
// VaultIntermediateClusterIssuer.
type VaultIntermediateClusterIssuerSpec struct {
	// Vault is how to reach and authenticate to the Vault PKI mount that signs
	// the intermediate certificates.
	// +required
	Vault VaultConnection `json:"vault"`

	// Policy is what a request must satisfy to be signed. Everything the
	// policy does not allow is denied, and a denied request never reaches
	// Vault.
	// +required
	Policy IntermediatePolicy `json:"policy"`
}

// VaultConnection describes the Vault server, the PKI mount and the
// credentials used to sign.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.caBundle) && has(self.caBundleSecretRef))",message="set at most one of caBundle and caBundleSecretRef"
// +kubebuilder:validation:XValidation:rule="!isURL(self.server) || url(self.server).getScheme() != 'http' || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP)",message="server must be an https:// URL: over plain http:// the AppRole secret ID, the Vault token and every certificate cross the network in clear text; set insecureAllowHTTP: true only for tests and demos"
type VaultConnection struct {
	// Server is the base URL of the Vault server, for example
	// "https://vault.example.com:8200". It must be https unless
	// insecureAllowHTTP is true.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (url(self).getScheme() == 'https' || url(self).getScheme() == 'http')",message="server must be an http:// or https:// URL, for example https://vault.example.com:8200"
	// +kubebuilder:validation:XValidation:rule="url(self).getHostname() != ''",message="server must name a host, for example https://vault.example.com:8200"
	Server string `json:"server"`

	// InsecureAllowHTTP lets server be a plain http:// URL. Over plain HTTP
	// the AppRole secret ID, the Vault token and every certificate cross the
	// network in clear text, readable and changeable by anyone on the path:
	// for tests and demos only. An issuer that sets it and names an http://
	// server carries the condition InsecureTransport (status True) saying so.
	// Defaults to false: server must be https.
	// +optional
	InsecureAllowHTTP bool `json:"insecureAllowHTTP,omitempty"`

	// CABundle is a PEM bundle of the CA certificates that Vault's TLS
	// serving certificate must chain to. When neither caBundle nor
	// caBundleSecretRef is set, the system trust store is used.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
	CABundle []byte `json:"caBundle,omitempty"`

	// CABundleSecretRef selects a key of a Secret in the cluster resource
	// namespace that holds the PEM CA bundle for Vault's TLS. Mutually
	// exclusive with caBundle.
	// +optional
	CABundleSecretRef *SecretKeySelector `json:"caBundleSecretRef,omitempty"`

	// ServerName overrides the host name expected in Vault's TLS serving
	// certificate (SNI and verification). Defaults to the host of server.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServerName string `json:"serverName,omitempty"`

	// Namespace is the Vault Enterprise or OpenBao namespace, sent as the
	// X-Vault-Namespace header. Empty means the root namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Namespace string `json:"namespace,omitempty"`

	// Mount is the path of the PKI secrets engine, without slashes at either
	// end. Defaults to "pki".
	// +optional
	// +kubebuilder:default=pki
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`
	Mount string `json:"mount,omitempty"`

	// IssuerRef names or identifies one issuer of a multi-issuer PKI mount.
	// When set, requests are signed through
	// "<mount>/issuer/<issuerRef>/sign-intermediate"; otherwise through
	// "<mount>/root/sign-intermediate", which uses the mount's default issuer.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	IssuerRef string `json:"issuerRef,omitempty"`

	// RootFingerprint pins the root CA: the SHA-256 fingerprint of the DER
	// certificate, as 64 hex digits with or without colons (the form
	// "openssl x509 -noout -fingerprint -sha256" prints). When set, the
	// issuer is not Ready unless the chain of the Vault issuer ends in this
	// root, and a certificate Vault returns under another root is withheld
	// instead of delivered. Istio cannot swap roots without a planned
	// rotation; the pin turns a surprise root change into a clear error.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9A-Fa-f]{64}|([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$`
	RootFingerprint string `json:"rootFingerprint,omitempty"`

	// RequestTimeout bounds every single HTTP call to Vault. Defaults to 30s.
	// +optional
	// +kubebuilder:default="30s"
	RequestTimeout *metav1.Duration `json:"requestTimeout,omitempty"`

	// Auth is how the issuer logs in to Vault.
	// +required
	Auth VaultAuth `json:"auth"`
}

// VaultAuth selects the Vault authentication method. AppRole is the only
// method supported.
type VaultAuth struct {
	// AppRole logs in with a role ID and a secret ID.
	// +required
	AppRole VaultAppRole `json:"appRole"`
}

// VaultAppRole is the configuration of Vault's AppRole auth method.
//
// +kubebuilder:validation:XValidation:rule="has(self.roleId) != has(self.roleIdSecretRef)",message="set exactly one of roleId and roleIdSecretRef"
type VaultAppRole struct {
	// Path is where the AppRole auth method is mounted, without the "auth/"
	// prefix and without slashes at either end. Defaults to "approle".
	// +optional
	// +kubebuilder:default=approle
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`
	Path string `json:"path,omitempty"`

	// RoleID is the AppRole role ID. Set this or roleIdSecretRef.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	RoleID string `json:"roleId,omitempty"`

	// RoleIDSecretRef selects a key of a Secret in the cluster resource
	// namespace that holds the role ID, for organisations that treat the role
	// ID as sensitive too. Set this or roleId.
	// +optional
	RoleIDSecretRef *SecretKeySelector `json:"roleIdSecretRef,omitempty"`

	// SecretRef selects the key of a Secret in the cluster resource namespace
	// that holds the AppRole secret ID. The Secret is read at every login, so
	// a rotated secret ID needs no restart.
	// +required
	SecretRef SecretKeySelector `json:"secretRef"`
}

// SecretKeySelector selects one key of a Secret in the cluster resource
// namespace (the controller's --cluster-resource-namespace flag).
type SecretKeySelector struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key of the entry in the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// IntermediatePolicy is the security team's rule set for intermediate CA
// requests. Everything it does not allow is denied. The CSR is the source of
// truth: subject, SANs, key and requested extensions are read from the CSR,
// and the request's isCA, usages and duration must agree with it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.allowCertificateSigningRequests) || !self.allowCertificateSigningRequests || has(self.requesters)",message="allowCertificateSigningRequests needs requesters: a Kubernetes CertificateSigningRequest is cluster-scoped, so allowedNamespaces cannot limit it and the requester rules are its gate"
type IntermediatePolicy struct {
	// AllowedNamespaces lists the namespaces whose CertificateRequests may be
	// signed, by exact name. At least one is required. It does not apply to
	// Kubernetes CertificateSigningRequests, which are cluster-scoped: see
	// allowCertificateSigningRequests.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	AllowedNamespaces []string `json:"allowedNamespaces"`

	// Requesters lists who may ask for an intermediate: the user that
	// created the request, as the API server authenticated it. For a
	// CertificateRequest that is spec.username and spec.groups, which
	// cert-manager's webhook fills in (and which nobody can set without it);
	// for a Kubernetes CertificateSigningRequest, spec.username and
	// spec.groups, which the API server sets. A request is allowed when its
	// user is listed in usernames, is one of serviceAccounts, or belongs to
	// one of groups. A request without a requester is denied, because
	// cert-manager's webhook is then missing. Unset (the default) allows
	// any requester in allowedNamespaces; CertificateSigningRequests are
	// then not allowed at all.
	// +optional
	Requesters *RequesterPolicy `json:"requesters,omitempty"`

	// AllowCertificateSigningRequests lets Kubernetes
	// CertificateSigningRequests (certificates.k8s.io/v1, signerName
	// "vaultintermediateclusterissuers.pki.golemtrust.am/<issuer name>")
	// be signed. They are cluster-scoped, so allowedNamespaces does not
	// apply to them; only requesters does, and it must be set. Every other
	// rule applies as to a CertificateRequest. Defaults to false: every
	// CertificateSigningRequest is denied.
	// +optional
	AllowCertificateSigningRequests bool `json:"allowCertificateSigningRequests,omitempty"`

	// Subject constrains the distinguished name of the CSR. A subject
	// attribute the policy does not mention must be absent from the CSR, and
	// attributes of unknown types are always denied.
	// +optional
	Subject SubjectPolicy `json:"subject,omitzero"`

	// SubjectAltNames lists the subject alternative names a CSR may carry,
	// per kind. A kind with no entries allows none.
	// +optional
	SubjectAltNames SubjectAltNamesPolicy `json:"subjectAltNames,omitzero"`

	// Duration bounds the requested validity of the intermediate.
	// +required
	Duration DurationPolicy `json:"duration"`

	// KeyUsages constrains the key usages a request may ask for and those
	// the issued certificate must carry.
	// +optional
	// +kubebuilder:default={}
	KeyUsages KeyUsagePolicy `json:"keyUsages,omitzero"`

	// ExtKeyUsages constrains the extended key usages a request may ask for.
	// None are allowed by default.
	// +optional
	ExtKeyUsages ExtKeyUsagePolicy `json:"extKeyUsages,omitzero"`

	// PrivateKey constrains the algorithm and size of the CSR's public key.
	// +optional
	// +kubebuilder:default={}
	PrivateKey PrivateKeyPolicy `json:"privateKey,omitzero"`

	// MaxPathLength is the largest path length constraint a request may ask
	// for, and the one the issued certificate gets. 0 (the default) lets the
	// intermediate sign only leaf certificates; a SPIRE server signing under
	// the Istio intermediate needs 1.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=8
	MaxPathLength *int32 `json:"maxPathLength,omitempty"`

	// NameConstraints are passed to Vault for the issued intermediate and
	// verified on the certificate Vault returns.
	// +optional
	NameConstraints *NameConstraintsPolicy `json:"nameConstraints,omitempty"`
}

// RequesterPolicy lists the users that may ask for an intermediate. Names
// are exact (no wildcards) and case-sensitive, as Kubernetes compares them.
// At least one entry is required.
//
// +kubebuilder:validation:XValidation:rule="(has(self.usernames) && size(self.usernames) > 0) || (has(self.groups) && size(self.groups) > 0) || (has(self.serviceAccounts) && size(self.serviceAccounts) > 0)",message="requesters must name at least one username, group or ServiceAccount; leave requesters out to allow any requester"
type RequesterPolicy struct {
	// Usernames are user names as the API server authenticates them, for
	// example "security-officer" or "system:serviceaccount:spire:spire-server".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Usernames []string `json:"usernames,omitempty"`

	// Groups are group names; a requester in any one of them is allowed.
	// The groups every user or every authenticated user belongs to
	// (system:authenticated, system:unauthenticated) are refused, because
	// they would allow anybody.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!self.exists(g, g == 'system:authenticated' || g == 'system:unauthenticated')",message="system:authenticated and system:unauthenticated would allow anybody; name the users, groups or ServiceAccounts that may ask"
	Groups []string `json:"groups,omitempty"`

	// ServiceAccounts are Kubernetes ServiceAccounts; a request whose user
	// is "system:serviceaccount:<namespace>:<name>" of one of them is
	// allowed.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	ServiceAccounts []ServiceAccountReference `json:"serviceAccounts,omitempty"`
}

// ServiceAccountReference names a Kubernetes ServiceAccount.
type ServiceAccountReference struct {
	// Namespace of the ServiceAccount.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`

	// Name of the ServiceAccount.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`
}

// ValuePolicy constrains the values of one subject attribute. Entries are
// exact strings or globs in which "*" matches any run of characters.
type ValuePolicy struct {
	// Required entries must each be matched by at least one value of the
	// attribute in the CSR.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Required []string `json:"required,omitempty"`

	// Allowed entries are the values the attribute may take in addition to
	// the required ones. Every value of the attribute in the CSR must match
	// an allowed or a required entry.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Allowed []string `json:"allowed,omitempty"`
}

// SubjectPolicy constrains the subject distinguished name, one attribute at a
// time. An attribute left unset must be absent from the CSR.
type SubjectPolicy struct {
	// CommonName constrains the CN.
	// +optional
	CommonName *ValuePolicy `json:"commonName,omitempty"`
	// Organizations constrains the O values.
	// +optional
	Organizations *ValuePolicy `json:"organizations,omitempty"`
	// OrganizationalUnits constrains the OU values.
	// +optional
	OrganizationalUnits *ValuePolicy `json:"organizationalUnits,omitempty"`
	// Countries constrains the C values.
	// +optional
	Countries *ValuePolicy `json:"countries,omitempty"`
	// Localities constrains the L values.
	// +optional
	Localities *ValuePolicy `json:"localities,omitempty"`
	// Provinces constrains the ST values.
	// +optional
	Provinces *ValuePolicy `json:"provinces,omitempty"`
	// StreetAddresses constrains the street values.
	// +optional
	StreetAddresses *ValuePolicy `json:"streetAddresses,omitempty"`
	// PostalCodes constrains the postalCode values.
	// +optional
	PostalCodes *ValuePolicy `json:"postalCodes,omitempty"`
	// SerialNumber constrains the subject serialNumber attribute (not the
	// certificate serial number).
	// +optional
	SerialNumber *ValuePolicy `json:"serialNumber,omitempty"`
}

// SubjectAltNamesPolicy lists the allowed subject alternative names per kind.
// Entries are exact values or globs. In DNS names "*" matches within one
// label only, and a wildcard name in the CSR matches only the identical
// entry; in URIs and email addresses "*" matches any run of characters, so
// a SPIFFE ID such as "spiffe://cluster.local/*" is a URI glob.
type SubjectAltNamesPolicy struct {
	// DNSNames allowed in the CSR.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	DNSNames []string `json:"dnsNames,omitempty"`
	// URIs allowed in the CSR, for example SPIFFE IDs.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	URIs []string `json:"uris,omitempty"`
	// IPAddresses allowed in the CSR, as single addresses or CIDR ranges.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	IPAddresses []string `json:"ipAddresses,omitempty"`
	// EmailAddresses allowed in the CSR.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=320
	EmailAddresses []string `json:"emailAddresses,omitempty"`
}

// DurationPolicy bounds the validity of the intermediate.
//
// +kubebuilder:validation:XValidation:rule="duration(self.min) > duration('0s')",message="min must be greater than zero"
// +kubebuilder:validation:XValidation:rule="duration(self.min) <= duration(self.max)",message="min must not be greater than max"
// +kubebuilder:validation:XValidation:rule="!has(self.default) || (duration(self.default) >= duration(self.min) && duration(self.default) <= duration(self.max))",message="default must lie between min and max"
type DurationPolicy struct {
	// Min is the shortest validity a request may ask for, and the shortest
	// validity the issued certificate may have (Vault may shorten a TTL to
	// its mount's maximum; such a certificate is withheld, left for the
	// security team to revoke, and the request fails).
	// +required
	Min metav1.Duration `json:"min"`

	// Max is the longest validity a request may ask for.
	// +required
	Max metav1.Duration `json:"max"`

	// Default is the validity used when a request carries no duration (a raw
	// CertificateRequest, for example from SPIRE). Without a default such a
	// request is denied.
	// +optional
	Default *metav1.Duration `json:"default,omitempty"`
}

// KeyUsagePolicy constrains key usages.
type KeyUsagePolicy struct {
	// Allowed lists the key usages a request may ask for; every requested
	// usage must be in it. A request with no usages asks for cert-manager's
	// defaults for a CA: digital signature, key encipherment and cert sign.
	// Defaults to digital signature, key encipherment, cert sign and crl sign.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:default={"digital signature","key encipherment","cert sign","crl sign"}
	Allowed []cmapi.KeyUsage `json:"allowed,omitempty"`

	// Required lists the key usages the issued certificate must carry,
	// checked after Vault answers. Defaults to cert sign and crl sign.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:default={"cert sign","crl sign"}
	Required []cmapi.KeyUsage `json:"required,omitempty"`
}

// ExtKeyUsagePolicy constrains extended key usages.
type ExtKeyUsagePolicy struct {
	// Allowed lists the extended key usages a request may ask for. Empty
	// (the default) allows none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	Allowed []cmapi.KeyUsage `json:"allowed,omitempty"`
}

// PrivateKeyAlgorithm is a public key algorithm of a CSR.
// +kubebuilder:validation:Enum=RSA;ECDSA;Ed25519
type PrivateKeyAlgorithm string

// The public key algorithms a policy can allow.
const (
	RSAKeyAlgorithm     PrivateKeyAlgorithm = "RSA"
	ECDSAKeyAlgorithm   PrivateKeyAlgorithm = "ECDSA"
	Ed25519KeyAlgorithm PrivateKeyAlgorithm = "Ed25519"
)

// ECDSACurve is a named elliptic curve.
// +kubebuilder:validation:Enum=P-256;P-384;P-521
type ECDSACurve string

// The ECDSA curves a policy can allow.
const (
	CurveP256 ECDSACurve = "P-256"
	CurveP384 ECDSACurve = "P-384"
	CurveP521 ECDSACurve = "P-521"
)

// PrivateKeyPolicy constrains the CSR's public key.
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxRSASize) || !has(self.minRSASize) || self.minRSASize <= self.maxRSASize",message="minRSASize must not be greater than maxRSASize"
type PrivateKeyPolicy struct {
	// Algorithms lists the allowed public key algorithms. Defaults to RSA
	// and ECDSA.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:default={"RSA","ECDSA"}
	Algorithms []PrivateKeyAlgorithm `json:"algorithms,omitempty"`

	// MinRSASize is the smallest RSA modulus in bits. Defaults to 2048.
	// +optional
	// +kubebuilder:default=2048
	// +kubebuilder:validation:Minimum=2048
	// +kubebuilder:validation:Maximum=16384
	MinRSASize *int32 `json:"minRSASize,omitempty"`

	// MaxRSASize is the largest RSA modulus in bits. Defaults to 8192: larger
	// keys cost CPU to verify and are denied before their signature is
	// checked.
	// +optional
	// +kubebuilder:default=8192
	// +kubebuilder:validation:Minimum=2048
	// +kubebuilder:validation:Maximum=16384
	MaxRSASize *int32 `json:"maxRSASize,omitempty"`

	// ECDSACurves lists the allowed curves for ECDSA keys. Defaults to P-256
	// and P-384.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:default={"P-256","P-384"}
	ECDSACurves []ECDSACurve `json:"ecdsaCurves,omitempty"`
}

// NameConstraintsPolicy is the X.509 name constraints extension the issued
// intermediate carries.
type NameConstraintsPolicy struct {
	// PermittedDNSDomains the intermediate may issue for.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	PermittedDNSDomains []string `json:"permittedDNSDomains,omitempty"`

	// ExcludedDNSDomains the intermediate may not issue for. Vault's sign
	// path has no such parameter before Vault 1.21 (OpenBao 2.4.0 and Vault
	// 1.13 lack it): against such a server the issuer is not Ready
	// (reason UnsupportedParameter) instead of signing without it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	ExcludedDNSDomains []string `json:"excludedDNSDomains,omitempty"`
}

// VaultIntermediateClusterIssuerStatus is the observed state of a
// VaultIntermediateClusterIssuer.
type VaultIntermediateClusterIssuerStatus struct {
	// IssuerStatus holds the conditions. "Ready" is maintained by issuer-lib
	// from the result of the issuer check; its reason is Checked, Pending or
	// Failed. "VaultReady" is maintained by this controller from every check
	// and every signing, and its reason says precisely what is wrong:
	// Checked, PolicyInvalid, SecretNotFound, VaultUnreachable,
	// VaultTLSError, VaultSealed, AuthFailed, PermissionDenied,
	// MountOrIssuerMissing, RootMismatch or VaultError. "InsecureTransport"
	// (status True, reason PlainHTTP) is a warning present while the issuer
	// talks to Vault over plain HTTP (spec.vault.insecureAllowHTTP).
	issuerapi.IssuerStatus `json:",inline"`

	// ObservedGeneration is the generation of the spec that policyDigest and
	// the VaultReady condition were computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// PolicyDigest is "sha256:" and the hex SHA-256 of the canonical JSON of
	// the defaulted policy (lists sorted). Every audit record and Event
	// carries it, so a decision can be tied to the exact policy text.
	// Metadata and Vault connection changes do not change it.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	PolicyDigest string `json:"policyDigest,omitempty"`

	// PolicyDigestShort is the first 12 hex digits of policyDigest, for
	// display (kubectl get).
	// +optional
	// +kubebuilder:validation:MaxLength=12
	PolicyDigestShort string `json:"policyDigestShort,omitempty"`

	// LastIssued describes the newest certificate this issuer delivered.
	// +optional
	LastIssued *IssuedRecord `json:"lastIssued,omitempty"`

	// LastDenied describes the newest request this issuer refused.
	// +optional
	LastDenied *DeniedRecord `json:"lastDenied,omitempty"`

	// IssuedCount is how many certificates this issuer has delivered since it
	// was created.
	// +optional
	IssuedCount int64 `json:"issuedCount,omitempty"`

	// DeniedCount is how many requests this issuer has refused (by policy or
	// because the issued certificate failed the post-issuance check) since
	// it was created.
	// +optional
	DeniedCount int64 `json:"deniedCount,omitempty"`
}

// RequestReference identifies the request a decision was about.
type RequestReference struct {
	// Kind is CertificateRequest or CertificateSigningRequest.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Namespace of the request; empty for a CertificateSigningRequest.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the request.
	// +optional
	Name string `json:"name,omitempty"`
	// UID of the request.
	// +optional
	UID string `json:"uid,omitempty"`
	// Requester is the user that created the request (spec.username), as
	// the API server recorded it. Empty when no admission webhook filled it
	// in.
	// +optional
	Requester string `json:"requester,omitempty"`
	// Approval is the request's Approved condition when it was signed:
	// who approved it is not recorded by Kubernetes, but the reason and
	// message the approver gave are (cmctl approve --reason --message).
	// +optional
	Approval *ApprovalRecord `json:"approval,omitempty"`
}

// ApprovalRecord is the Approved condition of a request, as the approver
// (cert-manager's approver, approver-policy, or a person with cmctl
// approve) wrote it.
type ApprovalRecord struct {
	// Reason of the Approved condition, for example "cert-manager.io" for
	// cert-manager's approver or "KubectlCmctl" for cmctl approve.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message of the Approved condition.
	// +optional
	Message string `json:"message,omitempty"`
}

// IssuedRecord is the audit record of one issued certificate.
type IssuedRecord struct {
	// Request is the request the certificate was issued for.
	Request RequestReference `json:"request"`
	// Subject is the certificate's subject in RFC 2253 form.
	// +optional
	Subject string `json:"subject,omitempty"`
	// SerialNumber is the certificate serial in colon-separated hex, as
	// Vault and "openssl x509 -serial" (without colons) print it.
	// +optional
	SerialNumber string `json:"serialNumber,omitempty"`
	// Fingerprint is "sha256:" and the hex SHA-256 of the DER certificate.
	// +optional
	Fingerprint string `json:"fingerprint,omitempty"`
	// NotAfter is the end of the certificate's validity.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// Time is when the certificate was delivered.
	Time metav1.Time `json:"time"`
	// PolicyDigest is the digest of the policy that allowed it.
	// +optional
	PolicyDigest string `json:"policyDigest,omitempty"`
	// VaultRequestID is Vault's request ID of the signing call, which joins
	// Vault's audit log.
	// +optional
	VaultRequestID string `json:"vaultRequestID,omitempty"`
}

// DeniedRecord is the audit record of one refused request.
type DeniedRecord struct {
	// Request is the request that was refused.
	Request RequestReference `json:"request"`
	// Decision is "denied" (the policy refused the request; Vault was not
	// called) or "verification_failed" (Vault's certificate failed the
	// post-issuance check and was withheld: it stays valid in Vault until
	// the security team revokes it).
	// +optional
	Decision string `json:"decision,omitempty"`
	// Violations are the broken rules, at most 16, each "<rule>: <detail>".
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Violations []string `json:"violations,omitempty"`
	// Time is when the request was refused.
	Time metav1.Time `json:"time"`
	// PolicyDigest is the digest of the policy that refused it.
	// +optional
	PolicyDigest string `json:"policyDigest,omitempty"`
}

// VaultIntermediateClusterIssuerList is a list of VaultIntermediateClusterIssuers.
//
// +kubebuilder:object:root=true
type VaultIntermediateClusterIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the issuers.
	Items []VaultIntermediateClusterIssuer `json:"items"`
}

var _ issuerapi.Issuer = &VaultIntermediateClusterIssuer{}

// GetConditions returns the status conditions; issuer-lib reads them.
func (vi *VaultIntermediateClusterIssuer) GetConditions() []metav1.Condition {
	return vi.Status.Conditions
}

// GetIssuerTypeIdentifier returns the signer name prefix for Kubernetes
// CertificateSigningRequests.
func (vi *VaultIntermediateClusterIssuer) GetIssuerTypeIdentifier() string {
	return IssuerTypeIdentifier
}

func init() {
	SchemeBuilder.Register(&VaultIntermediateClusterIssuer{}, &VaultIntermediateClusterIssuerList{})
}
