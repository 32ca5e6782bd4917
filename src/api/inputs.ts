/** GraphQL inputs. Images arrive as base64, data URIs or multipart file parts (src/api/multipart) and are validated in src/images. */
import 'reflect-metadata';
import { Field, ID, InputType } from 'type-graphql';
import { CheckStatusEnum, ProviderEnum } from './types';

@InputType({ description: "The applicant's own data, compared with the document's MRZ (or its verified chip's DG1) after ICAO 9303 transliteration" })
export class ApplicantInput {
  @Field({ nullable: true, description: 'Surname as the applicant writes it (any script ICAO 9303 transliterates: Müller matches MUELLER)' }) surname?: string;
  @Field({ nullable: true, description: 'Given names; the applicant may leave out some the document has (a middle name), not add any' }) givenNames?: string;
  @Field({ nullable: true, description: 'Date of birth, YYYY-MM-DD' }) dateOfBirth?: string;
}

@InputType({ description: "Files read from an e-passport's chip (NFC), base64: passive authentication against the server's CSCA certificates (VERIGATE_CSCA_DIR)" })
export class ChipInput {
  @Field({ description: 'EF.DG1 (the MRZ), base64' }) dg1!: string;
  @Field({ nullable: true, description: 'EF.DG2 (the face, JPEG or JPEG 2000), base64: once verified, the face the selfie is matched with' }) dg2?: string;
  @Field({ description: 'EF.SOD (the signed hashes), base64' }) sod!: string;
}

@InputType()
export class VerifyIdentityInput {
  @Field({ nullable: true, description: 'Selfie (JPEG/PNG): base64, a data URI, or null in a multipart request that maps a file here. Required unless livenessSessionId is given.' })
  selfie?: string;
  @Field({ description: 'ID-document image (JPEG/PNG): base64, a data URI, or null in a multipart request that maps a file here' })
  document!: string;
  @Field({ nullable: true, description: 'A completed liveness session (createLivenessSession): its provider judges liveness, and its reference image stands in for the selfie' })
  livenessSessionId?: string;
  @Field({ nullable: true, description: "The caller's own id for the subject" })
  referenceId?: string;
  @Field({ nullable: true, description: 'A repeat of the same request with the same key returns the stored result without calling providers again; the same key with other content is a CONFLICT' })
  idempotencyKey?: string;
  @Field({ defaultValue: false, description: 'Answer at once with the check PENDING; its verdict comes by webhook, subscription, or the check query' })
  async!: boolean;
  @Field(() => ApplicantInput, { nullable: true, description: "Compare the document's MRZ with these (the document check becomes required)" })
  applicant?: ApplicantInput;
  @Field(() => ChipInput, { nullable: true, description: "The document's chip: verified, its face becomes the match's reference (the document check becomes required)" })
  chip?: ChipInput;
}

@InputType()
export class CheckLivenessInput {
  @Field({ nullable: true, description: 'Selfie (JPEG/PNG): base64, a data URI, or null in a multipart request that maps a file here. Required unless livenessSessionId is given.' })
  selfie?: string;
  @Field({ nullable: true, description: 'A completed liveness session (createLivenessSession): its provider judges liveness from its own capture' })
  livenessSessionId?: string;
  @Field({ nullable: true }) referenceId?: string;
  @Field({ nullable: true }) idempotencyKey?: string;
  @Field({ defaultValue: false, description: 'Answer at once with the check PENDING; its verdict comes by webhook, subscription, or the check query' })
  async!: boolean;
}

@InputType()
export class CompareFacesInput {
  @Field({ description: 'Must hold exactly one dominant face' }) source!: string;
  @Field({ description: 'The largest face is compared' }) target!: string;
  @Field({ nullable: true }) referenceId?: string;
  @Field({ nullable: true }) idempotencyKey?: string;
  @Field({ defaultValue: false, description: 'Answer at once with the check PENDING; its verdict comes by webhook, subscription, or the check query' })
  async!: boolean;
}

@InputType()
export class CheckFilterInput {
  @Field(() => CheckStatusEnum, { nullable: true }) status?: (typeof CheckStatusEnum)[keyof typeof CheckStatusEnum];
  @Field(() => ProviderEnum, { nullable: true }) provider?: (typeof ProviderEnum)[keyof typeof ProviderEnum];
  @Field({ nullable: true }) referenceId?: string;
  @Field(() => ID, { nullable: true, description: 'Admins only; a tenant key sees its own tenant whatever this says' }) tenantId?: string;
  @Field({ nullable: true, description: 'Created at or after' }) from?: Date;
  @Field({ nullable: true, description: 'Created before' }) to?: Date;
}
